-- The police.uk crime types present for a force (for the crime-type picker).
-- Parameters: $force
-- Columns: crime_type
select distinct crime_type from police_uk_counts where force_code = $force order by crime_type
