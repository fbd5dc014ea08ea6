"""Read side: report queries over raw events and rollups, shared by API, dashboard and export."""
