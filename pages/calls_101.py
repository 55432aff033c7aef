"""Placeholder while this page is built (replaced in this session)."""

import streamlit as st

st.title("calls_101")
st.info("This page is being built.")
