-- One row per collaborator (collaborator_id), the grain its tests hold at error: the first copy (file order). The
-- other copies stay in base_practice__collaborators, where rpt_data_quality lists them.

{{ one_row_per(ref('base_practice__collaborators'), ['collaborator_id']) }}
