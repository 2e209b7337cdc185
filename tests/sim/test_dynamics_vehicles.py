"""The blueprint table the dynamics and the world spawn from."""
import pytest

from lead.sim.embedded.dynamics import DynamicsParams
from lead.sim.embedded.vehicles import (
    BASE_TYPES,
    EGO_BLUEPRINT,
    VEHICLES,
    WALKERS,
    vehicle,
    vehicles_of,
    walker,
)


def test_ego_is_leads_mkz_2020():
    ego = vehicle(EGO_BLUEPRINT)
    assert ego.extent == pytest.approx((2.4508, 1.0642, 0.7554), abs=1e-4)
    assert ego.base_type == "car" and not ego.emergency
    params = DynamicsParams.for_blueprint()
    assert (params.wheelbase, params.rear_axle) == (ego.wheelbase, ego.rear_axle)


def test_every_base_type_and_the_emergency_vehicles_are_there():
    for base in BASE_TYPES:
        assert vehicles_of(base), base
    assert {v.blueprint_id for v in VEHICLES.values() if v.emergency} == {
        "vehicle.dodge.charger_police",
        "vehicle.dodge.charger_police_2020",
        "vehicle.ford.ambulance",
        "vehicle.carlamotors.firetruck",
    }
    assert all(v.number_of_wheels == 2 for v in vehicles_of("bicycle", "motorcycle"))
    assert all(v.number_of_wheels == 4 for v in vehicles_of("car", "van", "truck", "bus"))


@pytest.mark.parametrize("bp", sorted(VEHICLES))
def test_geometry_is_plausible(bp):
    v = VEHICLES[bp]
    assert v.blueprint_id == bp and v.base_type in BASE_TYPES
    assert 0.0 < v.rear_axle < v.wheelbase < v.length
    assert 0.4 < v.wheelbase / v.length < 0.8
    assert v.wheelbase_source in ("carla", "spec")
    DynamicsParams.for_blueprint(v)  # constructs


def test_trucks_and_buses_are_bigger_than_cars():
    longest_car = max(v.length for v in vehicles_of("car"))
    assert all(v.length > longest_car for v in vehicles_of("bus"))
    assert max(v.length for v in vehicles_of("truck")) > longest_car


def test_walkers():
    assert len(WALKERS) == 51
    adult, child = walker("walker.pedestrian.0001"), walker("walker.pedestrian.0009")
    assert not adult.child and child.child and child.extent[2] < adult.extent[2]


def test_unknown_names_are_clear_errors():
    with pytest.raises(KeyError, match="vehicle.tesla.roadster"):
        vehicle("vehicle.tesla.roadster")
    with pytest.raises(KeyError, match="walker.pedestrian.0099"):
        walker("walker.pedestrian.0099")
    with pytest.raises(ValueError, match="tank"):
        vehicles_of("tank")
