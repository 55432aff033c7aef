-- Coverage of the ONS recorded crime by CSP table (Tables C2 and C5) for a force: one row per
-- rolling year loaded (editions overlap: e.g. Jan-Dec 2024 and Jul 2024-Jun 2025), and its size.
-- Parameters:
--   $force   police force area code (e.g. E23000035)
-- Columns:
--   period_start  first day of the rolling year
--   period_end    last day of that year (years are in order of their start)
--   rows          rows of the tidy table ons_csp_crime for the force (one per area and offence group)
--   records       total recorded crime (excluding fraud) in the force's own row
--                 (NULL where the table has no force total)
select period_start, period_end, count(*)::bigint as rows,
       sum(case when offence_group = 'Total recorded crime (excluding fraud)' and area_type = 'force'
                then count end)::bigint as records
from ons_csp_crime
where pfa_code = $force
group by period_start, period_end
order by period_start
