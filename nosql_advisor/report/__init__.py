"""Renderers of one report: report.json now; markdown, html and sarif come with the report issue."""
