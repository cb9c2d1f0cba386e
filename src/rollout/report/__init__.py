"""The report on a release (`model`: each stage's thresholds, what the next gate does) and its
renderings: terminal, Markdown with Mermaid charts (GitHub draws them in step summaries), and a
self-contained HTML page with inline SVG charts."""
