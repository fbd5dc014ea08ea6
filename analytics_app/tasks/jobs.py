"""What the tasks do; each runs inside an app context and is safe to run twice."""

from flask import current_app

from .. import erasure, partitions, retention
from ..exports import jobs as export_jobs
from ..reports.stored import rolled_zones
from ..rollup.run import roll_up


def rollup():
    """Bring rollups up to date (new finished days and days changed by late events)."""
    return roll_up(rolled_zones(current_app.config))


def partition():
    """Make the partitions of events ahead of time, and of days whose events wait (PostgreSQL)."""
    return partitions.make_ahead()


def cleanup():
    """Delete events and metrics past their retention, in short batches."""
    return retention.clean_up()


def erase_user(job_id):
    """Carry out one erasure job, then queue a rollup for the days it touched."""
    erasure.run(job_id)
    current_app.extensions["tasks"].rollup()


def export(job_id):
    """Write one export job's file."""
    export_jobs.run(job_id)
