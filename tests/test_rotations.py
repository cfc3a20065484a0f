import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from semges import rotations


@pytest.fixture
def random_rotations() -> Rotation:
    return Rotation.random(2000, random_state=7)


def test_axis_angle_to_matrix_matches_scipy(random_rotations):
    rotvec = torch.from_numpy(random_rotations.as_rotvec())
    expected = random_rotations.as_matrix()
    np.testing.assert_allclose(rotations.axis_angle_to_matrix(rotvec).numpy(), expected, atol=1e-10)


def test_matrix_to_axis_angle_matches_scipy(random_rotations):
    matrix = torch.from_numpy(random_rotations.as_matrix())
    np.testing.assert_allclose(
        rotations.matrix_to_axis_angle(matrix).numpy(), random_rotations.as_rotvec(), atol=1e-8
    )


def test_rot6d_is_the_first_two_rows(random_rotations):
    matrix = random_rotations.as_matrix()
    rot6d = rotations.matrix_to_rot6d(torch.from_numpy(matrix)).numpy()
    np.testing.assert_allclose(rot6d, matrix[:, :2, :].reshape(-1, 6))


def test_round_trips_are_below_1e5_in_float32(random_rotations):
    rotvec = torch.from_numpy(random_rotations.as_rotvec()).float()
    back = rotations.rot6d_to_axis_angle(rotations.axis_angle_to_rot6d(rotvec))
    recovered = Rotation.from_rotvec(back.double().numpy())
    angle_error = (recovered * random_rotations.inv()).magnitude()
    assert angle_error.max() < 1e-5
    matrix = rotations.axis_angle_to_matrix(rotvec)
    np.testing.assert_allclose(
        rotations.rot6d_to_matrix(rotations.matrix_to_rot6d(matrix)).numpy(),
        matrix.numpy(),
        atol=1e-5,
    )


def test_rot6d_to_matrix_orthonormalises_any_input():
    raw = torch.randn(500, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    matrix = rotations.rot6d_to_matrix(raw)
    identity = torch.eye(3, dtype=torch.float64).expand(500, 3, 3)
    torch.testing.assert_close(matrix @ matrix.transpose(-1, -2), identity)
    torch.testing.assert_close(torch.linalg.det(matrix), torch.ones(500, dtype=torch.float64))
    # The first row keeps the direction of the first three numbers.
    torch.testing.assert_close(matrix[:, 0], raw[:, :3] / raw[:, :3].norm(dim=-1, keepdim=True))


def test_flat_helpers_keep_joint_order():
    poses = (
        torch.from_numpy(Rotation.random(4 * 13, random_state=1).as_rotvec()).float().view(4, 39)
    )
    rot6d = rotations.flat_axis_angle_to_rot6d(poses)
    assert rot6d.shape == (4, 78)
    torch.testing.assert_close(rot6d[:, 6:12], rotations.axis_angle_to_rot6d(poses[:, 3:6]))
    torch.testing.assert_close(rotations.flat_rot6d_to_axis_angle(rot6d), poses, atol=1e-5, rtol=0)
    assert rotations.flat_rot6d_to_matrix(rot6d).shape == (4, 13, 3, 3)
