"""Compatibility: the analysis records now live in :mod:`aexy.contract.analysis` (public through
``aexy`` and ``aexy.plugin_api``); this module keeps the names importable where 0.1.0 had them."""

from aexy.contract.analysis import MAX_CONTEXT_DEPTH as MAX_CONTEXT_DEPTH
from aexy.contract.analysis import AnalysisRequest as AnalysisRequest
from aexy.contract.analysis import AnalysisResult as AnalysisResult
from aexy.contract.analysis import AnalysisSpec as AnalysisSpec
from aexy.contract.analysis import AnalysisType as AnalysisType
from aexy.contract.analysis import FieldItems as FieldItems
from aexy.contract.analysis import Provenance as Provenance
from aexy.contract.analysis import ProvenanceRecord as ProvenanceRecord
from aexy.contract.analysis import ProviderJsonSchema as ProviderJsonSchema
from aexy.contract.analysis import UserPromptBuilder as UserPromptBuilder
from aexy.contract.analysis import attach_provenance as attach_provenance
from aexy.contract.analysis import canonical_json as canonical_json
from aexy.contract.analysis import provider_json_schema as provider_json_schema
from aexy.prompts import check_prompt_size as check_prompt_size
