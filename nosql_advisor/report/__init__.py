"""Renderers of one report: report.json (json_report.build_report) is the data; markdown, html
and sarif render that dict; write.py writes every form, the validators and the index scripts."""
