-- police.uk against ONS recorded crime for the latest ONS rolling year, per CSP of a force.
-- ons_csp_crime holds one rolling year per ONS table loaded (Table C2 of each edition, C5 for the
-- year before); the latest year (the one ending last) is compared. ONS counts "Total recorded
-- crime (excluding fraud)"; police.uk street-level data is compared without anti-social
-- behaviour, over the months it has in that year.
-- Parameters: $force
-- Columns:
--   area_code, area_name, area_type  the force, its CSPs and its unassigned bucket
--   period_start, period_end         the latest ONS rolling year of the force
--   ons_crimes                       ONS recorded crime excluding fraud in the year
--   police_uk_crimes                 police.uk rows (excluding anti-social behaviour) in the year's months that exist
--   police_uk_months                 months of police.uk data in that year (12 when complete)
--   police_uk_annualised             police_uk_crimes scaled to 12 months (NULL with no months)
--   ratio                            police_uk_annualised / ons_crimes
with ons as (
    select period_start, period_end, area_code, area_type, count as ons_crimes
    from ons_csp_crime
    where pfa_code = $force and offence_group = 'Total recorded crime (excluding fraud)'
      and period_end = (select max(period_end) from ons_csp_crime where pfa_code = $force)
),
police as (  -- each area, and (the empty grouping set) the force as a whole
    select coalesce(c.area_code, $force) as area_code, sum(c.count) as crimes, count(distinct c.month) as months
    from police_uk_counts c, (select distinct period_start, period_end from ons) y
    where c.force_code = $force and c.crime_type <> 'Anti-social behaviour'
      and c.month between y.period_start and y.period_end
    group by grouping sets ((c.area_code), ())
)
select
    o.area_code,
    coalesce(a.area_name, o.area_code) as area_name,
    o.area_type,
    o.period_start,
    o.period_end,
    o.ons_crimes,
    coalesce(p.crimes, 0) as police_uk_crimes,
    coalesce(p.months, 0) as police_uk_months,
    case when p.months > 0 then p.crimes * 12.0 / p.months end as police_uk_annualised,
    case when p.months > 0 and o.ons_crimes > 0 then p.crimes * 12.0 / p.months / o.ons_crimes end as ratio
from ons o
left join police p using (area_code)
left join areas a using (area_code)
order by case o.area_type when 'force' then 0 when 'csp' then 1 else 2 end, area_name
