"""Synthetic sample preference pairs written for this project (package data; see data_prep.preflight)."""
