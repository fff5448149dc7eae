"""Pathways: advancement pathways, the org directory, progress and manager approvals."""
