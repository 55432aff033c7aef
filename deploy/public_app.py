"""The public site's entry point: `streamlit run deploy/public_app.py` (what `python -m measures serve --public`
runs). Streamlit 1.67 finds `app` below and serves the dashboard through it, with the public hardening
(measures/ui/public_server.py) in front of its routes. It lives outside measures/ because Streamlit puts
the launcher's folder first on sys.path."""

import streamlit as st
from starlette.middleware import Middleware

from measures.ui.public_server import DASHBOARD, PublicHardening, check_streamlit_version

check_streamlit_version()
app = st.App(DASHBOARD, middleware=[Middleware(PublicHardening)])
