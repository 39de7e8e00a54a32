"""Export views."""
