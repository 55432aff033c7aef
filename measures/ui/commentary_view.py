"""Analysts' commentary on a measure page (public site too): labelled, dated, shown as plain text.

The text, role and label are data typed by people, so they go through st.text only (no Markdown,
no HTML); the heading and caption are this module's own words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import streamlit as st

from measures.data import commentary
from measures.ui import app


def show(items: Sequence[commentary.Commentary]) -> None:
    """A "Commentary" section with each item's label (measure, period, role, date written) and text."""
    if not items:
        return
    st.subheader("Commentary")
    st.caption("Written by the force's analysts about the figures above: why a figure moved and what is being "
               "done. It is commentary, not part of the statistics.")
    for item in items:
        with st.container(border=True):
            st.text(commentary.label(item))
            st.text(item.text)


def section(measure_ids: Sequence[str], area_code: str, first: dt.date, last: dt.date) -> None:
    """The published commentaries on these measures for the area about periods from `first` to `last`
    (newest period first), from the cached commentary table."""
    comments = app.commentaries()
    items = [item for measure_id in measure_ids
             for item in commentary.for_window(comments, measure_id, area_code, first, last)]
    show(sorted(items, key=lambda item: (item.period, item.written_at), reverse=True))
