-- Reoffences per reoffender: proven reoffences within a year by the reoffenders of a
-- quarterly cohort, per reoffender, for each CSP of a force (districts summed) and
-- its unassigned bucket (districts not of the force).
-- Parameters:
--   $force          police force area code (e.g. E23000035)
--   $from, $to      first and last cohort start (DATE), inclusive
--   $offender_type  'adult', 'juvenile' or 'all' (both together)
-- The force row is not here: measures.core.pipeline adds it once for every measure, as the sum of these rows.
-- Columns:
--   period_start  first day of the cohort quarter
--   period_end    last day of the cohort quarter
--   area_code     CSP code or UNASSIGNED-<force code>
--   area_type     'csp' or 'unassigned'
--   numerator     proven reoffences
--   denominator   reoffenders
--   illustrative  whether any of the cohort's rows were loaded as illustrative (generated) data
-- An area with no reoffenders in a cohort has no row (the ratio is undefined).
with cohorts as (
    select r.cohort_start, r.cohort_end, r.area_code, a.area_type,
           sum(r.reoffences) as reoffences,
           sum(r.reoffenders) as reoffenders,
           bool_or(r.illustrative) as illustrative
    from reoffending_cohorts r
    join areas a on a.area_code = r.area_code
    where a.force_code = $force
      and r.cohort_start between $from and $to
      and ($offender_type = 'all' or r.adult_juvenile = $offender_type)
    group by r.cohort_start, r.cohort_end, r.area_code, a.area_type
)
select
    cohort_start as period_start,
    cohort_end as period_end,
    area_code,
    area_type,
    reoffences::double as numerator,
    reoffenders::double as denominator,
    illustrative
from cohorts
where reoffenders > 0
order by period_start, area_type, area_code
