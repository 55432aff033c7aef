"""Commentary (analyst mode only): write a short plain-text note on a measure, area and period.

Saving publishes a new data version (measures.data.commentary.add, atomically, like an upload):
every page, the public site and the briefing pack show it from their next refresh. The router
does not register this page on the public site; the page also refuses to run there itself.
"""

import pandas as pd
import streamlit as st

from measures.core import registry
from measures.data import commentary, store
from measures.ui import app

if app.public_mode():
    st.error("This is the public site: commentary cannot be written here.")
    st.stop()

SAVED = "commentary_saved"

st.title("Commentary")
st.caption("A short note beside a figure: why it moved, what is being done. It is published with the data (the "
           "public site too), labelled as commentary with your role and the date. Plain text only: any formatting "
           "or HTML is shown exactly as typed. Writing again for the same measure, area and period replaces it.")

force = app.force()  # analyst mode: the force with its own CSPs (not combined)
ids = registry.ids()
measure_id = st.selectbox("Measure", ids, format_func=lambda i: registry.get(i).title, key="commentary_measure")
# The force, its CSPs, and the areas the public site shows in place of some CSPs (combined areas).
areas = {a.code: a.name for a in force.areas()}
areas |= {c.code: f"{c.name} (as the public site shows it)" for c in force.public_combined}
area_code = st.selectbox("Area", list(areas), format_func=areas.get, key="commentary_area")
months = sorted({pd.Timestamp(p).date() for p in app.measure(measure_id)["period_start"]}, reverse=True)
if not months:
    st.info("This measure has no data for this force yet, so there is no period to write about.")
    st.stop()
period = st.selectbox("Period it is about", months, key="commentary_period",
                      format_func=lambda m: commentary.period_text(measure_id, m))
role = st.text_input("Your role", max_chars=commentary.MAX_ROLE, key="commentary_role",
                     placeholder="e.g. Performance analyst, OPCC")
text = st.text_area("Commentary", max_chars=commentary.MAX_TEXT, key="commentary_text", height=160,
                    placeholder="Why the figure moved, and what is being done about it.")

if st.button("Save and publish", type="primary", icon=":material/publish:"):
    try:
        saved = commentary.add(app.data_dir(), measure_id, area_code, period, text, role)
    except (commentary.CommentaryRefused, store.StoreBusy, store.DiskError) as exc:
        st.error(f"Not saved: {exc}", icon=":material/block:")  # our own words and codes only, never the text
    else:
        about = commentary.period_text(saved.measure_id, saved.period)
        st.session_state[SAVED] = (f"Saved and published (data version {app.data_version().rsplit('/', 1)[-1]}): "
                                   f"{registry.get(saved.measure_id).title}, {about}.")
        st.rerun()

if message := st.session_state.pop(SAVED, None):  # once, after the save's rerun
    st.success(message, icon=":material/check_circle:")

st.subheader("Published commentaries")
published = app.commentaries()
if published.empty:
    st.info("No commentary is published yet.")
else:
    names = {a.code: a.name for a in [*force.areas(), force.unassigned]} | areas
    # A table shows every value as text (no Markdown, no HTML).
    st.dataframe(pd.DataFrame({
        "Measure": [registry.get(m).title if m in ids else m for m in published["measure_id"]],
        "Area": [names.get(code, code) for code in published["area_code"]],
        "Period": published["period"].dt.strftime("%Y-%m"),
        "Role": published["role"],
        "Written (UTC)": published["written_at"].dt.strftime("%Y-%m-%d %H:%M"),
        "Commentary": published["text"],
    }).iloc[::-1], hide_index=True, width="stretch", key="commentary_list")
