-- One row per quote (estimate_id), the grain its tests hold at error: the first copy (file order). The other copies
-- stay in base_crm__estimates, where rpt_data_quality lists them.

{{ one_row_per(ref('base_crm__estimates'), ['estimate_id']) }}
