"""Local fakes of the ticketing APIs the ticket sync talks to: Jira (Cloud v3 and
Server/Data Center v2), the ServiceNow Table API and GitHub issues.

Each is a real HTTP server on 127.0.0.1 implementing the documented request and response
shapes, with state a test can read and faults it can script (see ``base.FakeService``);
``tests/ticketkit.py`` has the fixtures that start and stop them.
"""

from tests.ticketfakes.base import FakeService, Recorded
from tests.ticketfakes.github import FakeGitHub
from tests.ticketfakes.jira import FakeJira, JiraIssue
from tests.ticketfakes.servicenow import FakeServiceNow

__all__ = ["FakeGitHub", "FakeJira", "FakeService", "FakeServiceNow", "JiraIssue", "Recorded"]
