"""Any sequence of actions by anyone keeps invariants 1 and 2, and every refusal changes
nothing (Hypothesis drives the services with random actors, targets and actions)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.model import Level, Status
from bot import services
from bot.errors import RollcallError
from bot.services import Via
from tests.helpers import fresh_organization, store_state

PEOPLE = ["sam@example.com", "p0@example.com", "p1@example.com", "p2@example.com"]
LEVELS = [Level.SUPER, Level.ASSISTANT, Level.VIEW_ONLY]
STEP = st.tuples(
    st.sampled_from(["add", "activate", "deactivate", "delete", "set", "remove", "apply",
                     "login", "deactivate+remove"]),
    st.sampled_from(PEOPLE),  # actor
    st.sampled_from(PEOPLE),  # target
    st.sampled_from(LEVELS),
    st.sampled_from([None, ["alpha"]]),
)


def act(ctx, action, actor, target, level, projects):
    cli = {"actor": actor, "via": Via.CLI, "email": target}
    match action:
        case "add":
            services.create_user(ctx, first_name="P", last_name="Q", projects=projects or [],
                                 **cli)
        case "activate":
            services.activate_user(ctx, **cli)
        case "deactivate":
            services.deactivate_user(ctx, **cli)
        case "deactivate+remove":
            services.deactivate_user(ctx, remove_admin=True, **cli)
        case "delete":
            services.delete_user(ctx, **cli)
        case "set":
            services.set_admin(ctx, level=level, projects=projects, **cli)
        case "remove":
            services.remove_admin(ctx, **cli)
        case "apply":
            services.apply_now(ctx, **cli)
        case "login":
            services.login(ctx, via=Via.CLI, email=target)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25))
def test_invariants_hold_after_any_sequence(empty_ctx, steps):
    ctx = empty_ctx
    fresh_organization(ctx)
    services.add_project(ctx, actor=PEOPLE[0], via=Via.CLI, key="alpha", name="Alpha")
    for step in steps:
        before = store_state(ctx)
        try:
            act(ctx, *step)
        except RollcallError:
            assert store_state(ctx) == before, step
        users = services.list_users(ctx)
        supers = [u for u in users if u.status is Status.ACTIVE and u.level is Level.SUPER
                  and u.scope is not None and u.scope.all]
        assert supers, f"invariant 1 broken after {step}"
        assert not [u for u in users if u.status is not Status.ACTIVE
                    and u.status is not Status.PENDING and u.level > Level.NONE], step
