"""The base of every form: Flask-WTF's, with WTForms' own messages ("Not a valid choice")
read from a catalogue loaded once per language, where Flask-WTF loads it again each request."""

from flask_wtf import FlaskForm
from wtforms.i18n import get_translations

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
