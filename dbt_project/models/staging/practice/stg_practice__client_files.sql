-- One row per client file (company_id), the grain its tests hold at error: the first copy (file order). The other
-- copies stay in base_practice__client_files, where rpt_data_quality lists them.

{{ one_row_per(ref('base_practice__client_files'), ['company_id']) }}
