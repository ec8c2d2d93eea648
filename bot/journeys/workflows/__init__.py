"""Resolution workflows as data (`workflows/*.yml`): schema, loader, validator and the step runner.

workflows = load_workflows()
runner = WorkflowRunner(workflows, ShopDbFacts.at(), default_operations())
result = runner.start("late_delivery", customer_id, {"order_id": "TD103300"}, session)
result = runner.advance("late_delivery", result.current_step, result.context, user_input, customer_id, session)
"""

from bot.journeys.workflows.loader import DEFAULT_WORKFLOWS_DIR, WorkflowLoadError, load_workflows
from bot.journeys.workflows.operations import (
    OPERATIONS,
    OperationCall,
    OperationError,
    OperationRegistry,
    operation,
)
from bot.journeys.workflows.runner import WorkflowRunner, WorkflowStateError
from bot.journeys.workflows.schema import Problem, UnknownStep, Workflow
from bot.journeys.workflows.shop_facts import ShopDbFacts
from bot.journeys.workflows.shop_operations import default_operations
from bot.journeys.workflows.triggers import match_workflow
from bot.journeys.workflows.validator import responses_used, validate_workflows

__all__ = [
    "DEFAULT_WORKFLOWS_DIR",
    "OPERATIONS",
    "OperationCall",
    "OperationError",
    "OperationRegistry",
    "Problem",
    "ShopDbFacts",
    "UnknownStep",
    "Workflow",
    "WorkflowLoadError",
    "WorkflowRunner",
    "WorkflowStateError",
    "default_operations",
    "load_workflows",
    "match_workflow",
    "operation",
    "responses_used",
    "validate_workflows",
]
