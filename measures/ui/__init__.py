"""Streamlit-only code: the cached loaders and URL-bound filters the pages share, the page views, and the
public server's settings.
"""
