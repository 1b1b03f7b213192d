"""Send a ping through every configured queue and wait for a worker to answer each."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dramatiq_runtime.ping import send_pings, wait_for_answers


class Command(BaseCommand):
    help = (
        "Send one ping per configured queue; exit 0 only when a worker answered each, "
        "else name the silent queues."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout", type=float, default=10.0, help="seconds to wait (default 10)"
        )

    def handle(self, *args, timeout, **options):
        tasks = settings.CONFIG.tasks
        if not tasks.enabled:
            raise CommandError(
                "tasks are disabled (TASKS_ENABLED=false): nothing to ping"
            )
        queues = tasks.dramatiq.queues
        token, sent_at = send_pings(queues)
        answers = wait_for_answers(token, queues, timeout)
        width = max(len(queue) for queue in queues)
        for queue in queues:
            answer = answers.get(queue)
            if answer:
                seconds = answer["at"] - sent_at
                where = f"pid {answer['pid']} on {answer['host']}"
                self.stdout.write(
                    f"{queue:<{width}}  ok      {seconds:6.3f} s  ({where})"
                )
            else:
                self.stdout.write(f"{queue:<{width}}  SILENT")
        silent = [queue for queue in queues if queue not in answers]
        if silent:
            raise CommandError(
                f"no answer within {timeout:g} s from: {', '.join(silent)} "
                "(is a worker consuming them? python manage.py worker)"
            )
        self.stdout.write(f"all {len(queues)} queues answered")
