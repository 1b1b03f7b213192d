"""A view that sends a task, as a project's would: what the tracing tests request."""

from django.http import HttpRequest, JsonResponse

from .actors import traced_work


def send_traced(request: HttpRequest) -> JsonResponse:
    message = traced_work.send(
        request.GET["token"], failures=int(request.GET.get("failures", 0))
    )
    return JsonResponse({"message_id": message.message_id})
