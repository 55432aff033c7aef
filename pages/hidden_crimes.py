"""Placeholder while this page is built (replaced in this session)."""

import streamlit as st

st.title("hidden_crimes")
st.info("This page is being built.")
