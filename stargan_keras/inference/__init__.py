"""Inference: photos in, translations out (Translator) and portable .keras files."""
