"""The scope claims a signed-in person gets (services/accounts/domain/claims.py)."""

from __future__ import annotations

from services.accounts.domain.claims import Grant, claims_for


def test_a_resident_is_scoped_to_their_home_community():
    claims = claims_for("resident:a", "张晓森", "H-1", "北翟营", [])
    assert claims["roles"] == ["resident"] and claims["communities"] == ["北翟营"]


def test_staff_serve_the_communities_of_their_grants_not_the_one_they_live_in():
    claims = claims_for("staff:b", "李瑶", "H-2", "3502", [Grant("staff", community="北翟营")])
    assert claims["roles"] == ["resident", "staff"]
    assert claims["communities"] == ["北翟营"]  # living in 3502 gives no staff rights there
    assert claims["household"] == "H-2"
