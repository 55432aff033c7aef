-- Staging model: 101 calls summed by month and area, with the area's force and type. measures.data.db.connect
-- creates it as a view where the tables it reads are published; the 101 measure queries read it, so the join of
-- the calls to their areas and the sums are written once.
-- Reads: calls_101_monthly, areas
-- Columns:
--   month                  first day of the month
--   force_code             police force area code of the area
--   area_code              CSP code (the caller's CSP) or UNASSIGNED-<force code> (no or an unknown caller CSP)
--   area_type              'csp' or 'unassigned'
--   calls                  calls received
--   abandoned              calls abandoned before an answer (the caller hung up)
--   answered               calls answered
--   wait_sum               total minutes waited by answered calls (received to answered)
--   wait_sumsq             sum of the squared waits (minutes squared)
--   answered_within_10min  calls answered with a wait of 10 minutes or less (null: a month loaded before the
--                          table had the 10-minute count)
--   answered_within_20min  calls answered with a wait of 20 minutes or less
--   illustrative           whether any of the rows were loaded as illustrative (generated) data
select
    c.month,
    a.force_code,
    c.area_code,
    a.area_type,
    sum(c.calls) as calls,
    sum(c.abandoned) as abandoned,
    sum(c.answered) as answered,
    sum(c.wait_minutes_sum) as wait_sum,
    sum(c.wait_minutes_sumsq) as wait_sumsq,
    sum(c.answered_within_10min) as answered_within_10min,
    sum(c.answered_within_20min) as answered_within_20min,
    bool_or(c.illustrative) as illustrative
from calls_101_monthly c
join areas a on a.area_code = c.area_code
group by c.month, a.force_code, c.area_code, a.area_type
