"""morphology"""
