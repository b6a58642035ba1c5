-- One row per supplier rule (supplier_rule_id), the grain its tests hold at error: the first copy (file order). The
-- other copies stay in base_practice__supplier_rules, where rpt_data_quality lists them.

{{ one_row_per(ref('base_practice__supplier_rules'), ['supplier_rule_id']) }}
