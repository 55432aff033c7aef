"""Statistics and the pipeline: the measure registry, intervals and funnels, control charts (NHSRplotthedots),
disclosure control, the one measure pipeline and what is built from it (export, scorecard, profile, findings).
"""
