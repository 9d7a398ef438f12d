import secrets

import factory

from accounts.models import Channel, Membership, Role, TokenMode, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    name = factory.Sequence(lambda n: f"Shop {n}")
    channel_id = factory.Sequence(lambda n: f"{2000100000 + n}")
    channel_secret = factory.LazyFunction(lambda: secrets.token_hex(16))
    token_mode = TokenMode.LONG_LIVED
    access_token = factory.LazyFunction(lambda: secrets.token_urlsafe(40))
    bot_user_id = factory.LazyFunction(lambda: "U" + secrets.token_hex(16))
    api_base = "http://127.0.0.1:9"
    data_api_base = "http://127.0.0.1:9"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    channel = factory.SubFactory(ChannelFactory)
    role = Role.VIEWER
