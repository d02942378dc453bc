"""The dashboard (design §2 web/): page shells under `/ui`, their templates and static assets, shipped in the
package (no CDN). The pages read the JSON APIs from the browser; see docs/dashboard.md."""

from signwatch.ui.pages import router

__all__ = ["router"]
