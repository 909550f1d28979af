"""The inbox page with its filters, the task page with its form, claiming and releasing; saved filters."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext, lazy_gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app import clock
from app.db import transaction
from app.documents import outgoing
from app.documents.models import IncomingDocument
from app.documents.queries import document_of_instance
from app.documents.views import uploads_of
from app.engine import forms
from app.engine import services as engine
from app.engine.models import ProcessInstance
from app.errors import N_, InvalidInput, PermissionDenied, translated_field_errors
from app.extensions import db
from app.inbox import queries, services
from app.inbox.models import FilterPage, SavedFilter
from app.inbox.queries import DueWindow, InboxFilters, InboxSort, Ownership
from app.org.models import User

bp = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates")
Choice = TypeVar("Choice", bound=StrEnum)

DUE_LABELS = {
    DueWindow.LATE: lazy_gettext("Late"),
    DueWindow.TODAY: lazy_gettext("Due today"),
    DueWindow.WEEK: lazy_gettext("Due this week"),
}
OWNERSHIP_LABELS = {
    Ownership.CLAIMED: lazy_gettext("Claimed by me"),
    Ownership.ASSIGNED: lazy_gettext("Assigned to me by name"),
    Ownership.SHARED: lazy_gettext("Shared with my roles, unclaimed"),
}
SORT_LABELS = {
    InboxSort.PRIORITY: lazy_gettext("Urgency, then deadline"),
    InboxSort.DEADLINE: lazy_gettext("Nearest deadline"),
    InboxSort.NEWEST: lazy_gettext("Newest first"),
    InboxSort.OLDEST: lazy_gettext("Oldest first"),
}
MAX_TEXT = 200
FILTER_PAGES = {FilterPage.INBOX: "inbox.show_inbox", FilterPage.INCOMING: "documents.list_incoming"}
MAX_SAVED_FILTERS = 20  # per list: each is counted with a query whenever the list is shown
MAX_FILTER_NAME = 100
MAX_FILTER_QUERY = 1000


@bp.get("/")
@login_required
def show_inbox() -> str:
    session, now = db.session(), clock.now()
    processes = queries.process_choices(session, current_user)
    keys = {key for key, _name in processes}
    filters, sort, problems = _inbox_filters(request.args, keys)
    for problem in problems:
        flash(problem, "warning")
    rows = queries.inbox(session, current_user, filters, sort=sort, now=now)
    params = _inbox_params(filters, sort)
    return render_template(
        "inbox/inbox.html",
        rows=rows,
        filters=filters,
        sort=sort,
        params=params,
        query=urlencode(params),
        processes=processes,
        saved=_counted_filters(keys, now),
        due_labels=DUE_LABELS,
        ownership_labels=OWNERSHIP_LABELS,
        sort_labels=SORT_LABELS,
    )


def _inbox_filters(args: MultiDict[str, str], process_keys: set[str]) -> tuple[InboxFilters, InboxSort, list[str]]:
    """The inbox's filters and order from the query string; a value that does not parse is dropped and reported."""
    problems: list[str] = []

    def ignored(label: str, value: str) -> None:
        problems.append(gettext("%(field)s: “%(value)s” is not valid and was ignored.", field=label, value=value[:40]))

    def flag(name: str, label: str) -> bool:
        value = args.get(name, "").strip()
        if value not in ("", "1"):
            ignored(label, value)
        return value == "1"

    def choice(name: str, label: str, kind: type[Choice]) -> Choice | None:
        value = args.get(name, "").strip()
        found = next((member for member in kind if member.value == value), None)
        if value and found is None:
            ignored(label, value)
        return found

    process_key = args.get("process", "").strip()
    if process_key and process_key not in process_keys:
        ignored(gettext("Process"), process_key)
        process_key = ""
    filters = InboxFilters(
        is_urgent=flag("urgent", gettext("Urgent only")),
        due=choice("due", gettext("Deadline"), DueWindow),
        ownership=choice("whose", gettext("Whose"), Ownership),
        process_key=process_key,
        is_follow_up_due=flag("follow_up", gettext("Follow-up date reached")),
        q=args.get("q", "").strip()[:MAX_TEXT],
    )
    return filters, choice("sort", gettext("Sort by"), InboxSort) or InboxSort.PRIORITY, problems


def _inbox_params(filters: InboxFilters, sort: InboxSort) -> dict[str, str]:
    """The filters and order as query-string values: the links and the saved filters."""
    values = {
        "q": filters.q,
        "urgent": "1" if filters.is_urgent else "",
        "due": filters.due.value if filters.due else "",
        "whose": filters.ownership.value if filters.ownership else "",
        "process": filters.process_key,
        "follow_up": "1" if filters.is_follow_up_due else "",
        "sort": "" if sort is InboxSort.PRIORITY else sort.value,
    }
    return {name: value for name, value in values.items() if value}


def _counted_filters(process_keys: set[str], now: datetime) -> list[tuple[SavedFilter, int]]:
    """The user's saved inbox filters, each with the number of tasks it finds now (values that no longer
    parse are dropped, as on the page)."""
    saved = queries.saved_filters_of(db.session(), current_user, FilterPage.INBOX)
    filters = [_inbox_filters(MultiDict(parse_qsl(one.query)), process_keys)[0] for one in saved]
    return list(zip(saved, queries.counts(db.session(), current_user, filters, now=now), strict=True))


def _render_task(task_uuid: str, values: dict | None, errors: dict, status: int = 200) -> tuple[str, int]:
    """The task page; `values` None on first display, which shows each field's default."""
    locale = str(get_locale())
    task, form = services.task_form(db.session(), current_user, task_uuid)
    if values is None:
        values = {field["name"]: field.get("default") for field in form["fields"]}
    instance = db.session.get(ProcessInstance, task.instance_id)  # held: the identity map is weak
    document = _subject(task.instance_id)
    drafted = outgoing.of_instance(db.session(), task.instance_id)
    steps = services.route_so_far(db.session(), task.instance_id, instance.definition_id, locale) if instance else []
    return render_template(
        "inbox/task.html",
        task=task,
        form=form,
        title=forms.text(form.get("title"), locale) or task.name,
        fields=forms.localized_fields(form, locale),
        options=forms.options_for(db.session(), current_user.agency_id, locale),
        values=values,
        errors=errors,
        document=document,
        outgoing=drafted,
        outgoing_latest=outgoing.latest_files(db.session(), drafted) if drafted else [],
        steps=steps,
    ), status


def _subject(instance_id: int) -> IncomingDocument | None:
    return document_of_instance(db.session(), instance_id)


@bp.get("/watch")
@login_required
def show_watch() -> str:
    """Late and soon-due work of the leader's scope, to chase (IN-12)."""
    if not current_user.has_role(*services.WATCHER_ROLES):
        raise PermissionDenied(N_("This list is for leaders."))
    now = clock.now()
    rows = queries.late_or_due_soon(db.session(), current_user, now=now, horizon=now + timedelta(days=2))
    return render_template("inbox/watch.html", rows=rows)


@bp.post("/tasks/<task_uuid>/remind")
@login_required
def remind(task_uuid: str) -> Response:
    with transaction() as session:
        sent = services.remind(session, current_user, task_uuid, now=clock.now())
    flash(gettext("Reminder sent to %(count)s people.", count=len(sent)), "success")
    return redirect(url_for("inbox.show_watch"))


@bp.post("/tasks/<task_uuid>/follow-up")
@login_required
def set_follow_up(task_uuid: str) -> Response:
    raw = request.form.get("follow_up", "")
    try:
        when = datetime.combine(date.fromisoformat(raw), time(8), clock.VN) if raw else None
    except ValueError:
        raise InvalidInput(N_("Enter a date.")) from None
    with transaction() as session:
        services.set_follow_up(session, current_user, task_uuid, when)
    flash(gettext("Follow-up date saved."), "success")
    return redirect(url_for("inbox.show_task", task_uuid=task_uuid))


@bp.get("/notifications")
@login_required
def show_notifications() -> str:
    notices = services.notifications_of(db.session(), current_user)
    unread = {notice.id for notice in notices if notice.read_at is None}  # before they are marked read
    with transaction() as session:
        services.mark_read(session, current_user, now=clock.now())
    return render_template("inbox/notifications.html", notices=notices, unread=unread)


@bp.get("/tasks/<task_uuid>")
@login_required
def show_task(task_uuid: str) -> tuple[str, int]:
    return _render_task(task_uuid, None, {})


@bp.post("/tasks/<task_uuid>")
@login_required
def submit_task(task_uuid: str) -> Response | tuple[str, int]:
    try:
        with transaction() as db_session:
            services.submit_task(
                db_session,
                current_user,
                task_uuid,
                request.form,
                locale=str(get_locale()),
                now=clock.now(),
                files=uploads_of(request),
                signing_secret=current_app.config["SIGNING_SECRET"],
            )
    except InvalidInput as error:
        flash(error.translated(), "error")
        return _render_task(task_uuid, request.form.to_dict(), translated_field_errors(error), 422)
    flash(gettext("Done. The document moved to its next step."), "success")
    return redirect(url_for("inbox.show_inbox"))


@bp.post("/tasks/<task_uuid>/claim")
@login_required
def claim_task(task_uuid: str) -> Response:
    with transaction() as db_session:
        engine.claim_task(db_session, current_user, task_uuid)
    flash(gettext("The task is now yours."), "success")
    return redirect(url_for("inbox.show_task", task_uuid=task_uuid))


@bp.post("/tasks/<task_uuid>/release")
@login_required
def release_task(task_uuid: str) -> Response:
    with transaction() as db_session:
        engine.release_task(db_session, current_user, task_uuid)
    flash(gettext("The task is back in the shared list."), "success")
    return redirect(url_for("inbox.show_inbox"))


@bp.app_template_global()
def saved_filters(page: str) -> list[SavedFilter]:
    """The current user's saved filters of a list, for list pages of other blueprints (the incoming list)."""
    if not current_user.is_authenticated:
        return []
    return queries.saved_filters_of(db.session(), current_user, FilterPage(page))


@bp.post("/filters")
@login_required
def save_filter() -> Response:
    page = next((page for page in FilterPage if page.value == request.form.get("page")), None)
    if page is None:
        raise InvalidInput(N_("Unknown list."))
    query = ""
    try:
        query = _normal_query(request.form.get("query", ""))
        with transaction() as session:
            saved, is_new = _save_filter(
                session, current_user, page, request.form.get("name", ""), query, now=clock.now()
            )
    except InvalidInput as error:
        flash(error.translated(), "error")
        return redirect(_page_url(page, query))
    if is_new:
        flash(gettext("Filter “%(name)s” saved.", name=saved.name), "success")
    else:
        flash(gettext("Saved filter “%(name)s” updated.", name=saved.name), "success")
    return redirect(_page_url(page, saved.query))


@bp.post("/filters/<int:filter_id>/rename")
@login_required
def rename_filter(filter_id: int) -> Response:
    try:
        with transaction() as session:
            saved = queries.saved_filter_of(session, current_user, filter_id)
            _rename_filter(session, saved, request.form.get("name", ""))
    except InvalidInput as error:
        flash(error.translated(), "error")
    else:
        flash(gettext("Filter renamed to “%(name)s”.", name=saved.name), "success")
    return redirect(_page_url(FilterPage(saved.page), saved.query))


@bp.post("/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int) -> Response:
    with transaction() as session:
        saved = queries.saved_filter_of(session, current_user, filter_id)
        name, page = saved.name, FilterPage(saved.page)
        session.delete(saved)
    flash(gettext("Filter “%(name)s” deleted.", name=name), "success")
    return redirect(_page_url(page, ""))


def _page_url(page: FilterPage, query: str) -> str:
    url = url_for(FILTER_PAGES[page])
    return f"{url}?{query}" if query else url


def _normal_query(raw: str) -> str:
    """A list's query string as it is saved: without the page number, empty values or anything unsafe in a link."""
    try:
        pairs = parse_qsl(raw.strip().lstrip("?"), max_num_fields=50)
    except ValueError:
        raise InvalidInput(N_("This filter is too long to save.")) from None
    query = urlencode([(name, value) for name, value in pairs if value and name not in ("page", "csrf_token")])
    if len(query) > MAX_FILTER_QUERY:
        raise InvalidInput(N_("This filter is too long to save."))
    return query


def _filter_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name or len(name) > MAX_FILTER_NAME:
        raise InvalidInput(N_("Name the filter in 1 to %(count)s characters."), count=MAX_FILTER_NAME)
    return name


def _save_filter(
    session: Session, user: User, page: FilterPage, raw_name: str, query: str, *, now: datetime
) -> tuple[SavedFilter, bool]:
    """Keep the list's filter under a name; saving again under a name replaces that filter's query."""
    name = _filter_name(raw_name)
    saved = queries.saved_filters_of(session, user, page)
    same_name = next((one for one in saved if one.name.casefold() == name.casefold()), None)
    if same_name is not None:
        same_name.query = query
        session.flush()
        return same_name, False
    if len(saved) >= MAX_SAVED_FILTERS:
        raise InvalidInput(N_("A list keeps at most %(count)s saved filters."), count=MAX_SAVED_FILTERS)
    position = max((one.position for one in saved), default=0) + 1
    new = SavedFilter(user_id=user.id, page=page.value, name=name, query=query, position=position, created_at=now)
    session.add(new)
    session.flush()
    return new, True


def _rename_filter(session: Session, saved: SavedFilter, raw_name: str) -> None:
    name = _filter_name(raw_name)
    others = session.scalars(
        select(SavedFilter.name).where(
            SavedFilter.user_id == saved.user_id, SavedFilter.page == saved.page, SavedFilter.id != saved.id
        )
    )
    if any(other.casefold() == name.casefold() for other in others):
        raise InvalidInput(N_("You already have a filter named “%(name)s” on this list."), name=name)
    saved.name = name
    session.flush()
