-- 101 calls: mean wait to answer by weekday and hour of the day, over a period, for the
-- whole force (the calls_101_weekday_hour table is force-wide: it has no caller CSP).
-- Parameters:
--   $from, $to   first and last month (DATE, first of month), inclusive
-- Columns:
--   weekday       day of the week the call was received, 0 = Monday .. 6 = Sunday
--   hour          hour of the day the call was received, 0..23, local time (Europe/London)
--   calls         calls received in that weekday and hour over the period
--   answered      of those, calls answered
--   mean_wait     total minutes waited by answered calls / answered calls (NULL with none answered)
--   illustrative  whether any of the rows were loaded as illustrative (generated) data
-- A weekday and hour with no calls in the period has no row.
select
    weekday,
    hour,
    sum(calls)::bigint as calls,
    sum(answered)::bigint as answered,
    case when sum(answered) > 0 then sum(wait_minutes_sum) / sum(answered) end as mean_wait,
    bool_or(illustrative) as illustrative
from calls_101_weekday_hour
where month between $from and $to
group by weekday, hour
having sum(calls) > 0
order by weekday, hour
