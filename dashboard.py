"""Police and Crime Plan measures dashboard: the router (streamlit run dashboard.py)."""

import streamlit as st

from measures.ui import app, views

if app.public_mode():  # defence in depth, if the server was started without `python -m measures serve --public`
    st.set_option("client.showErrorDetails", "none")
    st.set_option("client.toolbarMode", "viewer")
st.set_page_config(page_title="Police and Crime Plan measures", page_icon=":bar_chart:", layout="wide")

pages = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/area_profile.py", title="Area profile", url_path="area-profile", icon=":material/location_city:"),
    st.Page("app_pages/calls_101.py", title="101 calls", url_path="calls-101", icon=":material/call:"),
    st.Page("app_pages/reoffending.py", title="Reoffending", url_path="reoffending", icon=":material/replay:"),
    st.Page("app_pages/hidden_crimes.py", title="Hidden crimes", url_path="hidden-crimes", icon=":material/visibility:"),
    st.Page("app_pages/recorded_crime.py", title="Recorded crime", url_path="recorded-crime", icon=":material/map:"),
    st.Page("app_pages/measure.py", title="Measure detail", url_path="measure", icon=":material/monitoring:"),
    st.Page("app_pages/about_data.py", title="About the data", url_path="about-data", icon=":material/info:"),
]
if not app.public_mode():  # the public site has no way to change data: the page is not registered at all
    pages.append(st.Page("app_pages/update_data.py", title="Update data", url_path="update-data",
                         icon=":material/upload:"))
    pages.append(st.Page("app_pages/commentary.py", title="Commentary", url_path="commentary",
                         icon=":material/edit_note:"))
app.PAGES.update({page.url_path: page for page in pages if page.url_path})
hidden = []
if app.public_mode():  # the analysts' addresses say plainly that no such page exists here (out of the navigation)
    hidden = [st.Page(views.page_not_found, title="Page not found", url_path=path, visibility="hidden")
              for path in ("update-data", "commentary")]
navigation = st.navigation(pages + hidden)
with st.sidebar:
    app.force_picker()
    st.caption(f"{app.force().name} · {'public site' if app.public_mode() else 'analyst mode'}")
navigation.run()
