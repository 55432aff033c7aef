"""Police and Crime Plan measures dashboard: the router (streamlit run dashboard.py)."""

import streamlit as st

from measures import app

st.set_page_config(page_title="Police and Crime Plan measures", page_icon=":bar_chart:", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/recorded_crime.py", title="Recorded crime", url_path="recorded-crime", icon=":material/map:"),
    st.Page("pages/measure.py", title="Measure detail", url_path="measure", icon=":material/monitoring:"),
]
app.PAGES.update({page.url_path: page for page in pages if page.url_path})
navigation = st.navigation(pages)
with st.sidebar:
    st.caption(f"{app.force().name} · {'public site' if app.public_mode() else 'analyst mode'}")
navigation.run()
