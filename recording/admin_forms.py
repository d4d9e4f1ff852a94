"""Forms of the conversation review: the tag action's field and the reply editor."""

from __future__ import annotations

from django import forms
from django.contrib.admin import helpers

from recording.curation import content_text, join_tags, parse_tags
from recording.models import Chosen, Conversation


class TagActionForm(helpers.ActionForm):
    tags = forms.CharField(
        required=False,
        label="tags",
        widget=forms.TextInput(attrs={"placeholder": "tags, for the tag actions"}),
    )


class ConversationForm(forms.ModelForm):
    tags_text = forms.CharField(label="tags", required=False, help_text="Comma-separated.")
    reply_text = forms.CharField(
        label="edited reply",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 100}),
        help_text="Rewrite the assistant's reply; the original is kept. "
        "Left as it is, or emptied: no edit.",
    )
    export_reply = forms.ChoiceField(label="reply to export")

    class Meta:
        model = Conversation
        fields = ["review_state"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        conversation = self.instance
        edited = conversation.edited_reply
        self.fields["tags_text"].initial = ", ".join(conversation.tag_list())
        shown = (edited or conversation.reply()) if conversation.pk else {}
        self.fields["reply_text"].initial = content_text(shown.get("content"))
        choices = [("original", "the original reply"), ("edited", "the edited reply")]
        choices += [(f"alt:{a.pk}", f"the answer of {a.model}") for a in self.alternatives()]
        self.fields["export_reply"].choices = choices
        self.fields["export_reply"].initial = (
            f"alt:{conversation.chosen_alternative_id}"
            if conversation.chosen == Chosen.ALTERNATIVE and conversation.chosen_alternative_id
            else conversation.chosen
        )

    def alternatives(self) -> list:
        return list(self.instance.alternatives.all()) if self.instance.pk else []

    def save(self, commit: bool = True) -> Conversation:
        conversation = super().save(commit=False)
        data = self.cleaned_data
        conversation.tags = join_tags(parse_tags(data["tags_text"]))
        original = conversation.reply()
        text = data["reply_text"].replace("\r\n", "\n")
        edited = text.strip() and text != content_text(original.get("content"))
        conversation.edited_reply = (
            {"role": "assistant", **original, "content": text} if edited else None
        )
        choice = data["export_reply"]
        if edited and "reply_text" in self.changed_data and "export_reply" not in self.changed_data:
            choice = "edited"  # an edit is made to be exported, unless told otherwise
        if choice == "edited" and not edited:
            choice = "original"
        conversation.chosen = Chosen.ALTERNATIVE if choice.startswith("alt:") else choice
        conversation.chosen_alternative_id = int(choice[4:]) if choice.startswith("alt:") else None
        if commit:
            conversation.save()
        return conversation
