"""Placeholder while this page is built (replaced in this session)."""

import streamlit as st

st.title("about_data")
st.info("This page is being built.")
