from django.utils.translation import gettext_lazy as _


class FrameworkFrozenError(Exception):
    """Raised on any attempt to change a framework version that a cycle already uses."""

    def __init__(self, message=None):
        super().__init__(
            message
            or _(
                "This framework version is frozen because a cycle uses it. "
                "Clone it into a new draft version to make changes."
            )
        )


class FrameworkIncompleteError(Exception):
    """Raised when a framework version that is not complete is about to be used."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))
