"""Renderings of a release report (`rollout.release.report`): terminal, Markdown with Mermaid charts
(GitHub draws them in step summaries), and a self-contained HTML page with inline SVG charts."""
