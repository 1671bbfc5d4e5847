"""Documents the centre issues, from DOCX templates: Quyết định, Kế hoạch, a Quyết định
issuing a Kế hoạch, Báo cáo, the seven one-stop forms 01-07 — as DOCX (Times New Roman)
and PDF/A-2b (its metric twin embedded) with an empty signature field (optionally
signed), numbered from the register.

Public surface:
    load_spec, validate, Spec, KINDS       content (YAML/JSON) and its schema
    render, render_docx, RenderResult      the whole pipeline; RenderResult.metadata()
    take_number, take_for_workspace        the number register
    layout_check, layout_problems          the Nghị định 30/2020 layout check of a DOCX
    WarmOffice, Converter, cold_convert    LibreOffice (warm for batches)
    add_signature_field, sign_pdf, locate_field
    list_templates, find_template, export_template
"""

from motcua.templates.check import layout_check, layout_problems
from motcua.templates.numbering import TakenNumber, take_for_workspace, take_number
from motcua.templates.office import Converter, WarmOffice, cold_convert, shared_converter
from motcua.templates.render import (
    KIND_INFO,
    RenderResult,
    export_template,
    find_template,
    list_templates,
    render,
    render_docx,
)
from motcua.templates.sign import add_signature_field, locate_field, sign_pdf
from motcua.templates.spec import KINDS, Spec, load_spec, validate

__all__ = [
    "KINDS",
    "KIND_INFO",
    "Converter",
    "RenderResult",
    "Spec",
    "TakenNumber",
    "WarmOffice",
    "add_signature_field",
    "cold_convert",
    "export_template",
    "find_template",
    "layout_check",
    "layout_problems",
    "list_templates",
    "load_spec",
    "locate_field",
    "render",
    "render_docx",
    "shared_converter",
    "sign_pdf",
    "take_for_workspace",
    "take_number",
    "validate",
]
