"""Update data (analyst mode only): upload files, read the check's report, then publish.

The router does not register this page on the public site; the page also refuses to run
there itself, before any uploader is drawn (defence in depth). The check runs in a separate
process with a memory limit (measures.data.isolated), so one upload cannot take the server down.
Text that comes from the files or the folders (names, problems, errors) is drawn as plain text
(st.text, st.code, st.dataframe), never as Markdown: st.error, st.caption and the rest render it.
"""

import pandas as pd
import streamlit as st

from measures.data import isolated, publishing, store
from measures.ui import app

if app.public_mode():
    st.error("This is the public site: data cannot be changed here.")
    st.stop()

CANDIDATE, REFUSED, PUBLISHED = "update_candidate", "update_refused", "update_published"
CONFIRM = "update_confirm_partial"


def _failed(what: str, exc: Exception) -> None:
    """A refusal: our words as the message, the error's own text (it may name a file) as plain text."""
    st.error(what, icon=":material/block:")
    st.text(" ".join(str(exc).split()))


def _forget_check() -> None:
    """A new source or new files make the last check meaningless."""
    publishing.discard(st.session_state.pop(CANDIDATE, None))
    st.session_state.pop(REFUSED, None)
    st.session_state.pop(PUBLISHED, None)
    st.session_state.pop(CONFIRM, None)


st.title("Update data")
st.caption("Load new files with the same checks as the command line. Nothing changes for anyone until you "
           "publish; the public site reads the published data only.")

source = st.selectbox("What are you loading?", list(publishing.SOURCE_LABELS),
                      format_func=publishing.SOURCE_LABELS.get, key="update_source", on_change=_forget_check)
illustrative = False
if source in ("calls-101", "reoffending", "hidden-crime"):
    illustrative = st.checkbox("These are illustrative (generated) figures, not real records", key="update_illustrative",
                               on_change=_forget_check,
                               help=f"Charts and exports of these rows will say '{app.ILLUSTRATIVE_LABEL}'.")
uploads = st.file_uploader("Files (CSV, a .zip of CSVs, or the ONS .xlsx workbook)", type=["csv", "zip", "xlsx"],
                           accept_multiple_files=True,
                           key=f"update_files_{source}", on_change=_forget_check)

if st.button("Check the files", type="primary", disabled=not uploads, icon=":material/fact_check:"):
    _forget_check()
    with st.spinner("Checking every row..."):
        try:
            st.session_state[CANDIDATE] = publishing.validate(
                source, [(f.name, f.getvalue()) for f in uploads], app.data_dir(), illustrative=illustrative,
                memory_limit=isolated.limit_bytes())
        except publishing.Refused as refused:
            st.session_state[REFUSED] = refused.problems

if problems := st.session_state.get(REFUSED):
    st.error("The files were refused; nothing was loaded and the published data is unchanged.",
             icon=":material/block:")
    st.dataframe(pd.DataFrame([{"file": p.file, "line": p.line, "problem": p.problem} for p in problems]),
                 hide_index=True, width="stretch")

candidate: publishing.Candidate | None = st.session_state.get(CANDIDATE)
if candidate is not None:
    st.subheader("Check report (not yet published)")
    files, rows = st.columns(2)
    files.metric("Files", f"{candidate.report.files:,}")
    rows.metric("Rows read", f"{candidate.report.rows:,}")
    st.code("\n".join(candidate.report.lines) or "(no details)", language=None, wrap_lines=True)
    if candidate.skipped:
        st.caption(f"Left out of the archive (not {source} files):")
        st.code("\n".join(candidate.skipped[:20]) + ("\n..." if len(candidate.skipped) > 20 else ""), language=None)
    if candidate.changes:
        st.dataframe(pd.DataFrame([{"table": c.table, "rows now": c.rows_before, "rows after publishing": c.rows_after}
                                   for c in candidate.changes]), hide_index=True, width="stretch")
    else:
        st.info("These files hold exactly what is already published: publishing would change nothing.")
    if candidate.public is not None:
        st.markdown("**What changes for the public** (the public site's figures for "
                    f"{candidate.public.force}: latest periods, and figures that move outside their 95% interval)")
        st.code("\n".join(line.strip() for line in candidate.public.lines()[1:]), language=None, wrap_lines=True)
    confirmed = True
    if candidate.warnings:
        st.warning(f"This update looks incomplete ({len(candidate.warnings)} warning(s)). Publish only if that is "
                   "what the source really holds.", icon=":material/warning:")
        st.code("\n".join(candidate.warnings), language=None, wrap_lines=True)
        confirmed = st.checkbox("I have read the warnings: publish these files anyway", key=CONFIRM)
    publish, discard = st.columns([1, 4])
    if publish.button("Publish", type="primary", disabled=not candidate.changes or not confirmed,
                      icon=":material/publish:"):
        try:
            publishing.publish(candidate, app.data_dir(), allow_partial=confirmed)
        except (publishing.StaleCandidate, publishing.Incomplete, store.StoreBusy, store.DiskError) as exc:
            _failed("Not published; the published data is unchanged:", exc)
        else:
            st.session_state.pop(CANDIDATE, None)
            st.session_state.pop(CONFIRM, None)
            st.session_state[PUBLISHED] = f"Published version {store.current_id(app.data_dir())}."
            st.rerun()
    if discard.button("Discard"):
        _forget_check()
        st.rerun()

if message := st.session_state.get(PUBLISHED):
    st.success(f"{message} Every page shows the new data from its next refresh, without a restart.",
               icon=":material/check_circle:")

st.subheader("Published now")
st.caption(f"Data version {app.data_version().rsplit('/', 1)[-1] or '(none)'} in {app.data_dir()}")
published = publishing.published_tables(app.data_dir())
if published:
    st.dataframe(pd.DataFrame(published), hide_index=True, width="stretch")
else:
    st.info("No data is published in this folder yet.")

st.subheader("Versions")
st.caption(f"The last {store.KEEP} published versions are kept; rolling back makes an earlier one current again "
           "in one atomic step (and is recorded here). Older entries stay as a record of what was loaded.")
versions = store.versions(app.data_dir())
if versions:
    st.dataframe(pd.DataFrame([{
        "version": v["version"], "current": v["current"], "published (UTC)": v.get("published_at") or "unknown",
        "action": v.get("action", ""), "source": v.get("source", ""),
        "files": "; ".join(f"{f['name'].rsplit('/', 1)[-1]} ({f['bytes']:,} bytes, sha256 {f['sha256'][:12]}...)"
                           for f in v.get("files", [])),
        "rows read": v.get("rows_read"), "kept": v["kept"],
    } for v in versions]), hide_index=True, width="stretch")
    current = store.current_id(app.data_dir())
    targets = list(dict.fromkeys(v["version"] for v in versions if v["kept"] and v["version"] != current))
    if targets:
        chosen = st.selectbox("Roll back to", targets, key="rollback_to",
                              help="The first is the version published before the current one.")
        if st.button("Roll back", icon=":material/undo:"):
            try:
                store.rollback(app.data_dir(), chosen)
            except (store.VersionError, store.StoreBusy, store.DiskError) as exc:
                _failed("Not rolled back; the published data is unchanged:", exc)
            else:
                _forget_check()  # a check made against the version rolled back from is stale now
                st.session_state[PUBLISHED] = f"Rolled back: version {chosen} is current again."
                st.rerun()
else:
    st.info("No version has been published in this folder yet.")
