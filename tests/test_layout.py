from semges import layout


def test_groups_partition_the_55_joints():
    joints = sorted(j for group in layout.JOINT_GROUPS.values() for j in group.joints)
    assert joints == list(range(layout.NUM_JOINTS)) == list(range(55))
    assert layout.POSE_DIM == 165


def test_group_sizes_match_the_smplx_design():
    assert layout.UPPER_BODY.num_joints == 13
    assert layout.HANDS.num_joints == 30
    assert layout.HANDS.rot6d_dim == 180
    assert layout.UPPER_BODY.pose_columns[:3] == (9, 10, 11)  # spine1 is joint 3
    assert layout.JAW.joints == (22,) and layout.EYES.joints == (23, 24)


def test_hand_joints_hang_off_the_wrists():
    assert all(layout.PARENTS[j] in (20, *layout.LEFT_HAND.joints) for j in layout.LEFT_HAND.joints)
    assert all(
        layout.PARENTS[j] in (21, *layout.RIGHT_HAND.joints) for j in layout.RIGHT_HAND.joints
    )
    assert all(layout.PARENTS[j] < j for j in range(1, layout.NUM_JOINTS))


def test_mirror_permutation_swaps_left_and_right_names():
    for joint, mirror in enumerate(layout.MIRROR_JOINT_PERMUTATION):
        name, mirror_name = layout.JOINT_NAMES[joint], layout.JOINT_NAMES[mirror]
        if name.startswith("left_"):
            assert mirror_name == "right_" + name.removeprefix("left_")
        elif name.startswith("right_"):
            assert mirror_name == "left_" + name.removeprefix("right_")
        else:
            assert mirror == joint
