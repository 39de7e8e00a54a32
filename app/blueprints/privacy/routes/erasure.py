"""Erasure views."""
