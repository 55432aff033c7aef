-- Names of every area (CSPs, forces, unassigned buckets), with the configured force's local names.
-- Columns: area_code, area_name
select area_code, area_name from areas
