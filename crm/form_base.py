"""The base of every form: Flask-WTF's, with WTForms' own messages ("Not a valid choice")
read from a catalogue loaded once per language, where Flask-WTF loads it again each request,
and its common widgets drawn by `crm.form_widgets`, the same text at a fraction of the cost."""

from flask_wtf import FlaskForm
from wtforms.i18n import get_translations
from wtforms.widgets.core import clean_key

from crm import form_widgets
from crm.i18n import user_locale

_catalogues = {}


def wtforms_catalogue(language):
    if language not in _catalogues:
        _catalogues[language] = get_translations([language])
    return _catalogues[language]


class AppForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return wtforms_catalogue(str(user_locale()))

        def render_field(self, field, render_kw):
            """As WTForms' own: the field's `render_kw` under what the template gives."""
            attributes = {clean_key(k): v for k, v in (field.render_kw or {}).items()}
            attributes.update((clean_key(k), v) for k, v in render_kw.items())
            return form_widgets.render_field(field, attributes)
